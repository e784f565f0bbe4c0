"""CloudShelf developer tools: local stack, seed data and CLI."""
