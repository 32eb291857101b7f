"""A cheap Argon2 variant used only when TRELLIS_ENV=test, so the suite stays fast."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastTestArgon2Hasher(Argon2PasswordHasher):
    algorithm = "argon2"
    time_cost = 1
    memory_cost = 8
    parallelism = 1
