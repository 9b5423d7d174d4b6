"""Channel senders: one small module per carrier, each implementing ``homing.domain.messages.Sender``.

``common`` holds what they share: the bounded throttling retry, masking for logs and the shape
of an error-mapping table. Only these modules know the carriers' APIs (boto3, HTTPS).
"""
