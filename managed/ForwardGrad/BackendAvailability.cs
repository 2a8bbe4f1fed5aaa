namespace ForwardGrad;

/// <summary>Whether a backend can be used here and, when it cannot, why.</summary>
/// <param name="IsAvailable">True when a context of the backend can be created.</param>
/// <param name="Reason">Why the backend is unavailable; empty when it is available.</param>
public readonly record struct BackendAvailability(bool IsAvailable, string Reason);
