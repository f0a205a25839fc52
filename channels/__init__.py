"""The channels service: the adapters of the channels beside Telegram (WhatsApp, Slack, e-mail,
the web chat) and the worker that sends their answers from `queue:to_channels`."""
