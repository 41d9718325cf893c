"""harness/core"""
