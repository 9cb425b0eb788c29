"""CRD schema machinery: structural validation, defaulting, pruning, CEL rules,
server-side tables and OpenAPI documents.

Every module here is a pure function of its inputs (schemas and JSON values as
plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``), so the server's
handlers call them and the tests exercise them without a running server.
"""
