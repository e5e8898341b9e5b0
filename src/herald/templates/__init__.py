"""Message templates: named blanks, sandboxed rendering, a default pack a team can override."""
