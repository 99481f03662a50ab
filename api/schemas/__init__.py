"""Request and response bodies: msgspec Structs, snake_case, unknown fields rejected."""
