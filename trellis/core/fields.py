"""Model fields: text encrypted at rest."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from trellis.core import crypto


class EncryptedTextField(models.TextField):
    """Free text (journal, messages, notes, phone numbers) stored with AES-256-GCM.

    The column holds `enc:v1:<key-id>:<base64>`; the model and field name are bound
    as associated data, so a ciphertext copied into another column fails to decrypt.
    Encrypted values cannot be searched or ordered in the database, by design.
    """

    description = "Text encrypted at rest (AES-256-GCM)"

    @property
    def crypto_context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, context=self.crypto_context)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            return crypto.decrypt(value, context=self.crypto_context)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), context=self.crypto_context)


class EncryptedJSONField(EncryptedTextField):
    """A JSON document (an exercise's answers) stored encrypted as one value.

    The Python value is a dict or list; nothing inside it can be queried in the database.
    """

    description = "JSON encrypted at rest (AES-256-GCM)"
    # Tell the type checker the attribute holds JSON values, not the text column's str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        if text is None or text == "":
            return None
        return json.loads(text)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            text = super().to_python(value)
            return json.loads(text) if text else None
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        # Encrypt the JSON text directly: TextField.get_prep_value would call to_python,
        # which parses the JSON back into a dict before it is encrypted.
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        return crypto.encrypt(text, context=self.crypto_context)

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj))


def encrypted_fields() -> list[EncryptedTextField]:
    """Every encrypted field of every installed model (for key rotation)."""
    from django.apps import apps

    found: list[EncryptedTextField] = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append(field)
    return found
