"""The providers cfql ships, as data: StackQL provider documents (OpenAPI 3 + ``x-stackQL-resources``).

This package holds no code; ``cfql.provider.registry`` reads the documents
beside this file.
"""
