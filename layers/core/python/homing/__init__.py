"""Homing: a serverless, Pinpoint-compatible user engagement service."""
