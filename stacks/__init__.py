"""Homing's CDK stacks: a stateful DataStack and stateless stacks that receive its resources."""
