from .backbone_retriever import BackboneRetriever

__all__ = ['BackboneRetriever']
