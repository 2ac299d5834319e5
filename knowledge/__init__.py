"""Solved cases and knowledge-base articles: the database, its FAISS and BM25 indexes, hybrid search."""

from knowledge.base import Hit, HybridConfig, KnowledgeBase
from knowledge.duplicates import Spike, detect_spikes, find_duplicates
from knowledge.store import Document, DocumentStore, SearchFilters

__all__ = [
    "Document",
    "DocumentStore",
    "Hit",
    "HybridConfig",
    "KnowledgeBase",
    "SearchFilters",
    "Spike",
    "detect_spikes",
    "find_duplicates",
]
