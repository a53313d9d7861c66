using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using PinGlass.Generations.Planning;
using PinGlass.Replicate.Providers;

namespace PinGlass.Generations.Experiments;

/// <summary>
/// What an arm changes of a generation: the first provider (flux-pulid, flux-kontext-pro or instant-id-photorealistic), whether several
/// reference faces go at once to the multi-reference provider, and portrait settings. Left out (null), the configured default or the
/// client's own option holds; a client's explicit option wins over the arm's.
/// </summary>
public sealed record ArmSettings
{
    public string? Provider { get; init; }

    public bool? MultiReference { get; init; }

    [Range(1, PortraitOptions.MaxSteps)]
    public int? Steps { get; init; }

    [Range(0.5, 2.0)]
    public double? IdWeightScale { get; init; }

    public IEnumerable<string> Problems()
    {
        if (Provider is not null && !ProviderNames.Single.Contains(Provider))
        {
            yield return $"provider is one of {string.Join(", ", ProviderNames.Single)}, not '{Provider}'.";
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new(this), results, validateAllProperties: true))
        {
            foreach (var result in results)
            {
                yield return result.ErrorMessage ?? "invalid";
            }
        }
    }

    /// <summary>The client's options with the arm's filling what the client left out.</summary>
    public PortraitOverrides Under(PortraitOverrides client) => client with
    {
        Steps = client.Steps ?? Steps,
        IdWeightScale = client.IdWeightScale ?? IdWeightScale,
    };
}

public sealed record Arm(string Name, int Weight, ArmSettings Settings);

/// <summary>The arm a generation runs in.</summary>
public sealed record ArmAssignment(string Experiment, string Arm, ArmSettings Settings);

/// <summary>
/// Deterministic assignment: the SHA-256 of the experiment, client and user places the user at u in [0, 1), and the arms cover [0, 1)
/// in their order, each its share of the total weight. The same user gets the same arm for as long as the weights stay; a reweight
/// moves the users whose place crosses a boundary that moved (with two arms, only those between the old and the new boundary; with
/// more, a change of the total moves every later boundary). Arms of weight 0 get no one; with every weight 0, no one is in the
/// experiment.
/// </summary>
public static class ExperimentAssignment
{
    public static Arm? Assign(string experiment, Guid clientId, string userId, IReadOnlyList<Arm> arms)
    {
        var total = arms.Sum(a => (long)a.Weight);
        if (total == 0)
        {
            return null;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{experiment}\n{clientId:N}\n{userId}"));
        // u × total, exactly: the hash's top 64 bits are u × 2⁶⁴.
        var place = (long)((UInt128)BinaryPrimitives.ReadUInt64BigEndian(hash) * (ulong)total >> 64);
        foreach (var arm in arms)
        {
            if (place < arm.Weight)
            {
                return arm;
            }

            place -= arm.Weight;
        }

        throw new InvalidOperationException("Unreachable: the place is below the total weight.");
    }
}
