"""Payment and wallet apps (`apps.py`: Cash App, Revolut, wallet stores); WhatsApp Pay is in whatsapp/payments.py."""
