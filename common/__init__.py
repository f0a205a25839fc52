"""What the five services share, in two sub-packages: `infrastructure` (what every service
runs on: settings, logging, the stream queue and its messages, Redis names, the rest_service
client, errors, retries, web plumbing) and `features` (product features two or more services
share: texts and languages, buttons, schedules, time zones, the calendar client, limits)."""
