"""The API's contract: every request body and every answer, declared once as types.

`requests` holds what callers send and `answers` what the API gives back, as msgspec
Structs. `reading` turns a parsed JSON body into a request type, naming every wrong field
at once; `web/openapi` derives the OpenAPI 3.1 document from the same types. What the
playbook decides (its channels, topics, stages...) is marked on a field with `choice`,
`keys` or `count` from `fields`, and the document fills it in for the playbook it serves.
"""
