using Microsoft.AspNetCore.Http;
using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

/// <summary>How a body is read within its limit: whole whatever the pieces it arrives in, with or without its length.</summary>
public sealed class RequestBodyReadTests
{
    private const int Limit = 64;

    [Fact]
    public async Task ABodyWithItsLengthIsReadWholeFromSmallPieces()
    {
        var body = Bytes(Limit);
        var context = Request(body, contentLength: body.Length);

        var (read, problem) = await RequestBody.ReadBytesAsync(context, Limit, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(body, read);
    }

    [Fact]
    public async Task AChunkedBodyIsReadWholeFromSmallPieces()
    {
        var body = Bytes(Limit);
        var context = Request(body, contentLength: null);

        var (read, problem) = await RequestBody.ReadBytesAsync(context, Limit, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(body, read);
    }

    [Fact]
    public async Task AChunkedBodyPastTheLimitIsTooLarge()
    {
        var context = Request(Bytes(Limit + 1), contentLength: null);

        var (_, problem) = await RequestBody.ReadBytesAsync(context, Limit, CancellationToken.None);

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, problem?.StatusCode);
    }

    [Fact]
    public async Task ALengthPastTheLimitIsTooLargeWithoutReading()
    {
        var context = Request(Bytes(Limit + 1), contentLength: Limit + 1);

        var (_, problem) = await RequestBody.ReadBytesAsync(context, Limit, CancellationToken.None);

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, problem?.StatusCode);
        Assert.Equal(0, context.Request.Body.Position);
    }

    [Fact]
    public async Task ABodyThatEndsBeforeItsLengthGivesWhatArrived()
    {
        var body = Bytes(10);
        var context = Request(body, contentLength: 20);

        var (read, problem) = await RequestBody.ReadBytesAsync(context, Limit, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(body, read);
    }

    private static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)('a' + i % 26)).ToArray();

    private static DefaultHttpContext Request(byte[] body, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new TrickleStream(body);
        context.Request.ContentLength = contentLength;
        return context;
    }

    /// <summary>Hands out at most 7 bytes per read, as a network body may.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, 7), cancellationToken);
    }
}
