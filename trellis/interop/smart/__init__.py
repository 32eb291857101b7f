"""SMART Backend Services: the systems a clinic lets in, and the short-lived tokens they get.

A clinic admin registers a backend client (its name, its public keys as a JWK Set, the
scopes it may ask for). The client then asks `POST /fhir/R4/auth/token` for an access
token, proving who it is with a JWT signed by one of its private keys (the client
assertion, RFC 7523 as profiled by SMART). Trellis never holds a shared secret: only the
client's public keys, and the hash of each token it issues.

- `keys`: the JWK Set a clinic pastes or uploads, checked (pure, no database);
- `scopes`: the scopes a client may be given and which of those asked for are granted;
- `assertion`: checking a client assertion's header, signature and claims;
- `services`: registering, switching off and re-keying clients, and issuing tokens;
- `views`: the token endpoint and `.well-known/smart-configuration`.
"""
