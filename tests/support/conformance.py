"""Records checked against the SCHEMA the tap emitted before them, formats included.

``date-time`` is only checked when ``rfc3339-validator`` is installed (a dev dependency); the
unit tests of this checker prove that it really checks it.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator

CHECKER = Draft7Validator.FORMAT_CHECKER


def violations(messages: list[dict[str, Any]]) -> list[str]:
    """Every record that breaks the SCHEMA last emitted for its stream, as readable lines."""
    validators: dict[str, Draft7Validator] = {}
    found: list[str] = []
    for message in messages:
        if message["type"] == "SCHEMA":
            Draft7Validator.check_schema(message["schema"])
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=CHECKER
            )
        elif message["type"] == "RECORD":
            validator = validators.get(message["stream"])
            if validator is None:
                found.append(f"{message['stream']}: RECORD before any SCHEMA")
                continue
            record = message["record"]
            found += [
                f"{message['stream']} {record.get('id')} "
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(record)
            ]
    return found
