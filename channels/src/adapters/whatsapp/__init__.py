"""The WhatsApp channel (Cloud API): `adapter.py` the channel, `webhook.py` what arrives,
`layout.py` and `formatting.py` what goes out, `media.py` files in, `client.py` the API."""

from channels.src.adapters.whatsapp.adapter import WhatsAppAdapter

__all__ = ["WhatsAppAdapter"]
