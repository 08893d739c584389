"""Delivery of notifications outside the app: push (APNs, FCM, Web Push), webhooks and Apprise.

``message`` is what goes out (one shape for every channel), ``transport`` the interface each way of sending
implements and the errors that tell the delivery job whether to retry, give up, or mark the target dead.
"""
