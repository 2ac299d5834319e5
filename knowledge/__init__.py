"""Solved cases and knowledge-base articles: the database, its FAISS indexes, and search."""

from knowledge.base import Hit, KnowledgeBase
from knowledge.store import Document, DocumentStore

__all__ = ["Document", "DocumentStore", "Hit", "KnowledgeBase"]
