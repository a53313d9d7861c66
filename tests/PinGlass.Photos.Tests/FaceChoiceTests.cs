using PinGlass.Photos.Faces;
using PinGlass.Photos.Selection;

namespace PinGlass.Photos.Tests;

/// <summary>Which face a photo is about: pure rules, no faces service.</summary>
public sealed class FaceChoiceTests
{
    private static readonly SelectionOptions Options = new();

    private static DetectedFace Face(double x, double y, double side, double score = 0.9) =>
        new(new FaceBox(x, y, side, side), score, [], [1f, 0f]);

    private static FaceChoice Choose(params DetectedFace[] faces) => Options.Choose(new FaceAnalysis(1000, 1000, 1, faces));

    [Fact]
    public void One_face_is_the_face()
    {
        var face = Face(400, 300, 200);
        var choice = Choose(face);
        Assert.Same(face, choice.Face);
        Assert.Equal("one face", choice.Explanation);
    }

    [Fact]
    public void No_confident_face_is_no_face()
    {
        var choice = Choose(Face(400, 300, 200, score: 0.3));
        Assert.True(choice.NoFace);
        Assert.Null(choice.Face);
        Assert.Equal("no face was found", choice.Explanation);
    }

    [Fact]
    public void A_second_detection_of_the_same_face_does_not_make_two_faces()
    {
        var face = Face(400, 300, 200);
        var choice = Choose(face, Face(430, 320, 170));
        Assert.Same(face, choice.Face);
        Assert.Contains("second detection(s) of the same face", choice.Explanation);
    }

    [Fact]
    public void A_much_smaller_face_behind_does_not_compete()
    {
        var face = Face(400, 300, 200);
        var choice = Choose(face, Face(650, 400, 90));
        Assert.Same(face, choice.Face);
        Assert.Contains("much smaller face", choice.Explanation);
    }

    [Fact]
    public void A_smaller_face_at_the_edge_of_the_frame_does_not_compete_but_one_as_large_there_does()
    {
        var face = Face(400, 300, 200);
        var reflection = Face(900, 300, 130); // centre at x 965: in the outer 15 %; 42 % of the area
        var choice = Choose(face, reflection);
        Assert.Same(face, choice.Face);
        Assert.Contains("at the edge of the frame", choice.Explanation);

        var large = Face(850, 300, 180); // at the edge too, but 81 % of the area
        var refused = Choose(face, large);
        Assert.True(refused.SeveralFaces);
        Assert.StartsWith("2 faces of similar size: the largest is only 1.2× the area of the next", refused.Explanation);
    }

    [Fact]
    public void Two_faces_of_similar_size_side_by_side_leave_no_face_to_compare()
    {
        var choice = Choose(Face(200, 300, 200), Face(600, 300, 180));
        Assert.Null(choice.Face);
        Assert.True(choice.SeveralFaces);
        Assert.Equal(2, choice.Confident.Count);
    }

    [Fact]
    public void The_largest_face_is_compared_whatever_order_the_service_gave()
    {
        var large = Face(300, 300, 300);
        var choice = Choose(Face(700, 450, 100), large);
        Assert.Same(large, choice.Face);
    }
}
