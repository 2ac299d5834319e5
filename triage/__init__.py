"""One ticket in, one TriageResult out: language, fields, summary, routing, time, similar cases."""
