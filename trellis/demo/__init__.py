"""The simulated demo clinic: its people (the personas tests use too), their programs,
alerts and sessions, all made through the real services; and `trellis demo`."""
