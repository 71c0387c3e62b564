"""Province onboarding (M11): the working calendar and its 8-working-hour clock, support-request attachments, and
the evidence report of the integration self-test."""
