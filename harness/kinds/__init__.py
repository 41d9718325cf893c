"""harness/kinds"""
