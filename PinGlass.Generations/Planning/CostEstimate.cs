namespace PinGlass.Generations.Planning;

/// <summary>What a generation is expected to cost before it starts: the design's estimate, and that estimate with the expected retries.</summary>
public sealed record CostEstimate(decimal Cost, decimal WithRetries);
