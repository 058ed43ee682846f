"""El Fatoora: TEIF 1.8.8 documents (build, structural validation, XAdES signature) and transport.

Nothing here imports models or settings at import time: the production settings load the
signing certificate through `invoices.teif.certificate` before the apps are ready.
"""
