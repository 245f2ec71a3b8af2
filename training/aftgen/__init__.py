"""AFT data: chats from a fixed set or built from a spec through the LLM layer."""
