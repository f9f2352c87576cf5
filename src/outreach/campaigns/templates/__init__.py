"""Campaign step templates: merge fields from a contact, rendered in a sandbox, refused when broken.

A step has a subject, a plain-text body and optionally an HTML body, written by users in Jinja
syntax: ``Hi {{ first_name | default("there") }}, saw {{ company }} is hiring in {{ city }}.``
This package turns a contact into merge fields, checks templates, and renders them. It is pure:
no database, no I/O, no clock.

Callers import from the module that holds what they use (there are no re-exports here):

``fields``        the merge fields of a contact, and the names raw columns go by
``rendering``     checking and rendering the three parts, with every problem found
``normalising``   the shape of rendered text (line endings, blank lines, one-line subjects)
``placeholders``  what still looks like an unfilled placeholder once rendered

and the machinery ``rendering`` runs on, for this package only (but for the sandbox's limits):

``sandbox``       the metered Jinja environment templates are compiled and run in
``undefined``     how a template sees a merge field that is empty or missing
"""
