//! The Amazon provider's Lambda operators and sensor (work in progress: the family lands with the operator seam v2).
