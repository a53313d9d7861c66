using PinGlass.Generations.Persistence;
using PinGlass.Generations.Portraits;
using PinGlass.Photos.Identity;

namespace PinGlass.Generations.Tests;

/// <summary>Why a portrait is delivered without an identity verdict, from what stopped the gate.</summary>
public sealed class IdentityUncheckedTests
{
    [Fact]
    public void A_face_model_changed_during_the_generation_is_said_so_and_not_called_an_outage()
    {
        Assert.Equal(IdentityCheck.FaceModelChanged, PredictionSettler.UncheckedReason(new FaceModelChangedException(128, 1024)));
        Assert.Equal(IdentityCheck.FacesUnavailable, PredictionSettler.UncheckedReason(new HttpRequestException("refused")));
        Assert.Equal(IdentityCheck.Unreadable, PredictionSettler.UncheckedReason(new InvalidDataException("not an image")));
    }
}
