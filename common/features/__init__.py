"""Product features two or more services share: the text catalogue and the user's language,
buttons and confirmations, schedules and time zones, the calendar client, places, per-user
limits, LLM counts, MCP server configs, files in transit and documents read into text."""
