"""What every service runs on: settings, logging, the stream queue and its messages, Redis
and its key names, the rest_service client and the bodies it reads and sends, errors, retries,
the web plumbing, probes, metrics and secrets. No feature of the product lives here."""
