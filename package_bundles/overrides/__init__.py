"""ERPNext and Frappe doctypes the app hooks (hooks.py ``doc_events``, dashboards, desk methods).

One module per hooked doctype, each a thin dispatcher: it says which flow (package_bundles.flows)
an event runs, in which order, and holds no rule of its own.
"""
