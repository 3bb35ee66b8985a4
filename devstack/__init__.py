"""The local stand-ins for AWS and the dev stack built from them: never shipped, never deployed."""
