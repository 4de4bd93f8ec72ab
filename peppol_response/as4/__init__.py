"""AS4 message layer: ebMS 3 messages, MIME, WS-Security and PKI as a sans-I/O core, plus sender and receiver."""
