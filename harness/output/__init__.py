"""harness/output"""
