"""What the five services share: settings, logging, message models, the stream queue, names,
the rest_service client, errors and secret helpers. No business logic lives here."""
