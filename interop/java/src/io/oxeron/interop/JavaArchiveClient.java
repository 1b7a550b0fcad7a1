package io.oxeron.interop;

import io.aeron.Aeron;
import io.aeron.ChannelUri;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.archive.client.AeronArchive;
import io.aeron.archive.client.ArchiveException;
import io.aeron.archive.client.PersistentSubscription;
import io.aeron.archive.client.ReplayMerge;
import io.aeron.archive.client.ReplicationParams;
import io.aeron.archive.codecs.RecordingSignal;
import io.aeron.archive.codecs.SourceLocation;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.aeron.security.CredentialsSupplier;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Java's {@code AeronArchive} client, driven from stdin one command a line (tokens separated by spaces). Each
 * command prints one result line; list commands print their descriptors first ({@code DESC}, {@code RSUB}); a
 * failure prints {@code ERR <command> code=<archive error code>: <message>} and the next command is read.
 * Messages are those of {@code oxeron::sample}: message n carries n, so every replayed message is checked for
 * its content and its position.
 */
public final class JavaArchiveClient
{
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);
    private static final int HEADER_LENGTH = 32;

    private final Aeron aeron = Aeron.connect(new Aeron.Context());
    private final Map<String, Publication> publications = new HashMap<>();
    private final Map<String, Subscription> subscriptions = new HashMap<>();
    private final List<long[]> signals = new ArrayList<>();
    private AeronArchive archive;

    public static void main(final String[] args) throws Exception
    {
        final JavaArchiveClient client = new JavaArchiveClient();
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while (null != (line = in.readLine()))
        {
            final String[] t = line.trim().split(" ");
            if (t[0].isEmpty())
            {
                continue;
            }
            if ("quit".equals(t[0]))
            {
                break;
            }
            try
            {
                client.execute(t);
            }
            catch (final ArchiveException ex)
            {
                print("ERR " + t[0] + " code=" + ex.errorCode() + ": " + oneLine(ex));
            }
            catch (final Exception ex)
            {
                print("ERR " + t[0] + " code=-1: " + oneLine(ex));
            }
        }
        client.close();
        print("BYE");
    }

    private static String oneLine(final Exception ex)
    {
        return (ex.getClass().getSimpleName() + ": " + ex.getMessage()).replace('\n', ' ');
    }

    private static void print(final String line)
    {
        System.out.println(line);
        System.out.flush();
    }

    private void close()
    {
        if (null != archive)
        {
            archive.close();
        }
        publications.values().forEach(Publication::close);
        subscriptions.values().forEach(Subscription::close);
        aeron.close();
    }

    private void execute(final String[] t) throws Exception
    {
        switch (t[0])
        {
            case "connect" -> connect(t);
            case "pub" -> addPublication(t);
            case "publish" -> publish(t);
            case "close-pub" ->
            {
                publications.remove(t[1]).close();
                print("OK");
            }
            case "record" -> print("SUBSCRIPTION " + archive.startRecording(
                t[1], Integer.parseInt(t[2]), SourceLocation.valueOf(t[3]), t.length > 4 && "autostop".equals(t[4])));
            case "extend" -> print("SUBSCRIPTION " + archive.extendRecording(
                Long.parseLong(t[1]), t[2], Integer.parseInt(t[3]), SourceLocation.valueOf(t[4])));
            case "stop-sub" ->
            {
                archive.stopRecording(Long.parseLong(t[1]));
                print("OK");
            }
            case "stop-channel" ->
            {
                archive.stopRecording(t[1], Integer.parseInt(t[2]));
                print("OK");
            }
            case "stop-id" -> print("STOPPED " + archive.tryStopRecordingByIdentity(Long.parseLong(t[1])));
            case "await-signal" -> awaitSignal(RecordingSignal.valueOf(t[1]), Long.parseLong(t[2]));
            case "await-position" -> awaitPosition(Long.parseLong(t[1]), Long.parseLong(t[2]));
            case "list" ->
                print("LISTED " + archive.listRecordings(Long.parseLong(t[1]), Integer.parseInt(t[2]), this::describe));
            case "list-uri" -> print("LISTED " + archive.listRecordingsForUri(
                Long.parseLong(t[1]), Integer.parseInt(t[2]), t[3], Integer.parseInt(t[4]), this::describe));
            case "list-one" -> print("LISTED " + archive.listRecording(Long.parseLong(t[1]), this::describe));
            case "find" -> print("FOUND " + archive.findLastMatchingRecording(
                Long.parseLong(t[1]), t[2], Integer.parseInt(t[3]), Integer.parseInt(t[4])));
            case "positions" ->
            {
                final long id = Long.parseLong(t[1]);
                print("POSITIONS " + archive.getStartPosition(id) + " " + archive.getRecordingPosition(id) + " " +
                    archive.getStopPosition(id) + " " + archive.getMaxRecordedPosition(id));
            }
            case "subscriptions" -> print("LISTED " + archive.listRecordingSubscriptions(
                Integer.parseInt(t[1]), Integer.parseInt(t[2]), t[3], Integer.parseInt(t[4]),
                Boolean.parseBoolean(t[5]),
                (controlSessionId, correlationId, subscriptionId, streamId, channel) ->
                    print("RSUB " + subscriptionId + " " + streamId + " " + channel)));
            case "replay" ->
            {
                subscriptions.put(t[1], archive.replay(
                    Long.parseLong(t[2]), Long.parseLong(t[3]), Long.parseLong(t[4]), t[5], Integer.parseInt(t[6])));
                print("REPLAY " + t[1]);
            }
            case "start-replay" -> startReplay(t);
            case "stop-replay" ->
            {
                archive.stopReplay(Long.parseLong(t[1]));
                print("OK");
            }
            case "read" -> read(t);
            case "read-end" -> readEnd(t[1]);
            case "close-sub" ->
            {
                subscriptions.remove(t[1]).close();
                print("OK");
            }
            case "truncate" ->
            {
                archive.truncateRecording(Long.parseLong(t[1]), Long.parseLong(t[2]));
                print("OK");
            }
            case "purge" ->
            {
                archive.purgeRecording(Long.parseLong(t[1]));
                print("OK");
            }
            case "detach" ->
            {
                archive.detachSegments(Long.parseLong(t[1]), Long.parseLong(t[2]));
                print("OK");
            }
            case "delete-detached" -> print("COUNT " + archive.deleteDetachedSegments(Long.parseLong(t[1])));
            case "purge-segments" ->
                print("COUNT " + archive.purgeSegments(Long.parseLong(t[1]), Long.parseLong(t[2])));
            case "attach" -> print("COUNT " + archive.attachSegments(Long.parseLong(t[1])));
            case "migrate" -> print("COUNT " + archive.migrateSegments(Long.parseLong(t[1]), Long.parseLong(t[2])));
            case "replicate" -> replicate(t);
            case "replay-merge" -> replayMerge(t);
            case "persistent" -> persistent(t);
            default -> throw new IllegalArgumentException("unknown command " + t[0]);
        }
    }

    /** {@code connect <request channel> <response channel> [credentials|-] [answer prefix]}. */
    private void connect(final String[] t)
    {
        if (null != archive)
        {
            archive.close();
            archive = null;
        }
        final byte[] credentials = t.length > 3 && !"-".equals(t[3]) ?
            t[3].getBytes(StandardCharsets.US_ASCII) : new byte[0];
        final String answerPrefix = t.length > 4 ? t[4] : null;
        final AeronArchive.Context ctx = archiveContext(t[1], t[2])
            .credentialsSupplier(new CredentialsSupplier()
            {
                public byte[] encodedCredentials()
                {
                    return credentials;
                }

                public byte[] onChallenge(final byte[] encodedChallenge)
                {
                    if (null == answerPrefix)
                    {
                        return new byte[0];
                    }
                    return (answerPrefix + new String(encodedChallenge, StandardCharsets.US_ASCII))
                        .getBytes(StandardCharsets.US_ASCII);
                }
            })
            .recordingSignalConsumer(
                (controlSessionId, correlationId, recordingId, subscriptionId, position, signal) ->
                    signals.add(new long[]{ recordingId, subscriptionId, position, signal.value(), correlationId }));
        archive = AeronArchive.connect(ctx);
        print("CONNECTED " + archive.controlSessionId() + " " + archive.archiveId());
    }

    private AeronArchive.Context archiveContext(final String requestChannel, final String responseChannel)
    {
        return new AeronArchive.Context()
            .aeron(aeron)
            .ownsAeronClient(false)
            .controlRequestChannel(requestChannel)
            .controlResponseChannel(responseChannel)
            .messageTimeoutNs(TimeUnit.SECONDS.toNanos(10));
    }

    /** {@code pub <name> <channel> <stream> [exclusive]}: waits until it is connected. */
    private void addPublication(final String[] t) throws InterruptedException
    {
        final int streamId = Integer.parseInt(t[3]);
        final Publication publication = t.length > 4 && "exclusive".equals(t[4]) ?
            aeron.addExclusivePublication(t[2], streamId) : aeron.addPublication(t[2], streamId);
        publications.put(t[1], publication);
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while (!publication.isConnected())
        {
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("publication " + t[1] + " not connected");
            }
            Thread.sleep(1);
        }
        print("PUB " + t[1] + " " + publication.sessionId() + " " + publication.initialTermId() + " " +
            publication.termBufferLength() + " " + publication.position());
    }

    /** {@code publish <name> <first sequence> <count> <length>}: prints the position after the last. */
    private void publish(final String[] t) throws InterruptedException
    {
        final Publication publication = publications.get(t[1]);
        final long first = Long.parseLong(t[2]);
        final int count = Integer.parseInt(t[3]);
        final int length = Integer.parseInt(t[4]);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[length]);
        long position = publication.position();
        for (long seq = first; seq < first + count; seq++)
        {
            fill(buffer, length, seq);
            final long deadline = System.nanoTime() + TIMEOUT_NS;
            long result;
            while ((result = publication.offer(buffer, 0, length)) < 0)
            {
                if (Publication.CLOSED == result || Publication.MAX_POSITION_EXCEEDED == result ||
                    System.nanoTime() > deadline)
                {
                    throw new IllegalStateException("offer of message " + seq + " failed: " + result);
                }
                Thread.onSpinWait();
                Thread.yield();
            }
            position = result;
        }
        print("PUBLISHED " + position);
    }

    static void fill(final UnsafeBuffer buffer, final int length, final long seq)
    {
        for (int i = 0; i < Math.min(length, 8); i++)
        {
            buffer.putByte(i, (byte)(seq >>> (8 * i)));
        }
        for (int i = 8; i < length; i++)
        {
            buffer.putByte(i, (byte)((seq & 0xFF) * 31 + i));
        }
    }

    private void awaitSignal(final RecordingSignal signal, final long recordingId) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while (true)
        {
            for (final Iterator<long[]> it = signals.iterator(); it.hasNext(); )
            {
                final long[] s = it.next();
                if (s[3] == signal.value() && (recordingId < 0 || s[0] == recordingId))
                {
                    it.remove();
                    print("SIGNAL " + s[0] + " " + s[1] + " " + s[2] + " " + signal + " " + s[4]);
                    return;
                }
            }
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("no " + signal + " signal; pending " + signals.size());
            }
            if (0 == archive.pollForRecordingSignals())
            {
                Thread.sleep(1);
            }
        }
    }

    private void awaitPosition(final long recordingId, final long position) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        long recorded;
        while ((recorded = archive.getRecordingPosition(recordingId)) < position)
        {
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("recording " + recordingId + " at " + recorded + " < " + position);
            }
            Thread.sleep(1);
        }
        print("POSITION " + recorded);
    }

    private void describe(
        final long controlSessionId,
        final long correlationId,
        final long recordingId,
        final long startTimestamp,
        final long stopTimestamp,
        final long startPosition,
        final long stopPosition,
        final int initialTermId,
        final int segmentFileLength,
        final int termBufferLength,
        final int mtuLength,
        final int sessionId,
        final int streamId,
        final String strippedChannel,
        final String originalChannel,
        final String sourceIdentity)
    {
        print("DESC " + recordingId + " " + startPosition + " " + stopPosition + " " + initialTermId + " " +
            segmentFileLength + " " + termBufferLength + " " + mtuLength + " " + sessionId + " " + streamId + " " +
            strippedChannel + " " + originalChannel + " " + sourceIdentity);
    }

    /** {@code start-replay <name> <recording> <position> <length> <channel> <stream>}: prints the session id. */
    private void startReplay(final String[] t)
    {
        final int streamId = Integer.parseInt(t[6]);
        final long replaySessionId = archive.startReplay(
            Long.parseLong(t[2]), Long.parseLong(t[3]), Long.parseLong(t[4]), t[5], streamId);
        final String channel = ChannelUri.addSessionId(t[5], (int)replaySessionId);
        subscriptions.put(t[1], aeron.addSubscription(channel, streamId));
        print("REPLAY " + t[1] + " " + replaySessionId);
    }

    /** Checks the messages of a stream: content by sequence, and each one's position. */
    static final class Checker implements FragmentHandler
    {
        final int length;
        final int frameLength;
        final int termLength;
        final long end;
        long next;
        long position;
        String error;

        Checker(final long firstSeq, final long count, final int length, final long startPosition, final int termLength)
        {
            this.next = firstSeq;
            this.end = firstSeq + count;
            this.length = length;
            this.frameLength = (HEADER_LENGTH + length + 31) & ~31;
            this.termLength = termLength;
            this.position = startPosition;
        }

        boolean done()
        {
            return next >= end || null != error;
        }

        long received(final long firstSeq)
        {
            return next - firstSeq;
        }

        public void onFragment(final DirectBuffer buffer, final int offset, final int len, final Header header)
        {
            if (null != error)
            {
                return;
            }
            if (next >= end)
            {
                error = "unexpected message after " + end + " at " + header.position();
                return;
            }
            final long termOffset = position & (termLength - 1);
            final long expectedPosition =
                (termOffset + frameLength > termLength ? position - termOffset + termLength : position) + frameLength;
            if (header.position() != expectedPosition)
            {
                error = "message " + next + " at position " + header.position() + ", expected " + expectedPosition;
                return;
            }
            if (len != length)
            {
                error = "message " + next + " has length " + len;
                return;
            }
            for (int i = 0; i < length; i++)
            {
                final byte want = i < 8 ? (byte)(next >>> (8 * i)) : (byte)((next & 0xFF) * 31 + i);
                if (buffer.getByte(offset + i) != want)
                {
                    final long got = length >= 8 ? buffer.getLong(offset, java.nio.ByteOrder.LITTLE_ENDIAN) : -1;
                    error = "message " + next + " differs at byte " + i + " (carries " + got + ")";
                    return;
                }
            }
            position = expectedPosition;
            next++;
        }
    }

    private static Checker checker(final String[] t, final int from)
    {
        return new Checker(
            Long.parseLong(t[from]),
            Long.parseLong(t[from + 1]),
            Integer.parseInt(t[from + 2]),
            Long.parseLong(t[from + 3]),
            Integer.parseInt(t[from + 4]));
    }

    private static void awaitDone(final Checker checker, final String what, final PollStep step)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while (!checker.done())
        {
            if (0 == step.poll())
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IllegalStateException(what + " stalled before message " + checker.next);
                }
                Thread.sleep(0, 200_000);
            }
        }
        if (null != checker.error)
        {
            throw new IllegalStateException(what + ": " + checker.error);
        }
    }

    interface PollStep
    {
        int poll();
    }

    /** {@code read <name> <first sequence> <count> <length> <start position> <term length>}. */
    private void read(final String[] t) throws InterruptedException
    {
        final Subscription subscription = subscriptions.get(t[1]);
        final Checker checker = checker(t, 2);
        final FragmentAssembler assembler = new FragmentAssembler(checker);
        awaitDone(checker, "replay " + t[1],
            () -> subscription.poll(assembler, (int)Math.max(1, Math.min(64, checker.end - checker.next))));
        print("READ " + checker.received(Long.parseLong(t[2])) + " " + checker.position);
    }

    /** Waits until the subscription's images end, failing on any further message. */
    private void readEnd(final String name) throws InterruptedException
    {
        final Subscription subscription = subscriptions.get(name);
        final long deadline = System.nanoTime() + TIMEOUT_NS;
        while (true)
        {
            final int n = subscription.poll(
                (buffer, offset, length, header) ->
                {
                    throw new IllegalStateException("message after the end at " + header.position());
                },
                10);
            boolean ended = true;
            for (final Image image : subscription.images())
            {
                ended &= image.isEndOfStream() || image.isClosed();
            }
            if (ended)
            {
                print("END");
                return;
            }
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("replay " + name + " did not end");
            }
            if (0 == n)
            {
                Thread.sleep(1);
            }
        }
    }

    /**
     * {@code replicate <src recording> <dst recording> <src control stream> <src control channel> <stop position>
     * <replication channel|-> <credentials|->}: prints the replication id.
     */
    private void replicate(final String[] t)
    {
        final ReplicationParams params = new ReplicationParams()
            .dstRecordingId(Long.parseLong(t[2]))
            .stopPosition(Long.parseLong(t[5]));
        if (!"-".equals(t[6]))
        {
            params.replicationChannel(t[6]);
        }
        if (t.length > 7 && !"-".equals(t[7]))
        {
            params.encodedCredentials(t[7].getBytes(StandardCharsets.US_ASCII));
        }
        print("REPLICATION " + archive.replicate(Long.parseLong(t[1]), Integer.parseInt(t[3]), t[4], params));
    }

    /**
     * {@code replay-merge <recording> <subscription channel> <stream> <replay channel> <replay destination>
     * <live destination> <start position> <first sequence> <count> <length> <term length>}: prints
     * {@code MERGING} once the merge is set up, then {@code MERGED <count> <position>} once every message arrived,
     * checked, and the merge joined the live stream.
     */
    private void replayMerge(final String[] t) throws InterruptedException
    {
        final Subscription subscription = aeron.addSubscription(t[2], Integer.parseInt(t[3]));
        final long startPosition = Long.parseLong(t[7]);
        final Checker checker = new Checker(
            Long.parseLong(t[8]), Long.parseLong(t[9]), Integer.parseInt(t[10]), startPosition,
            Integer.parseInt(t[11]));
        try (ReplayMerge merge = new ReplayMerge(
            subscription, archive, t[4], t[5], t[6], Long.parseLong(t[1]), startPosition))
        {
            print("MERGING");
            final FragmentAssembler assembler = new FragmentAssembler(checker);
            awaitDone(checker, "replay merge", () -> merge.poll(assembler, 64));
            final long deadline = System.nanoTime() + TIMEOUT_NS;
            while (!merge.isMerged())
            {
                if (merge.hasFailed() || System.nanoTime() > deadline)
                {
                    throw new IllegalStateException("not merged: " + merge);
                }
                if (0 == merge.poll(assembler, 64))
                {
                    Thread.sleep(1);
                }
            }
            if (null != checker.error)
            {
                throw new IllegalStateException("replay merge: " + checker.error);
            }
            print("MERGED " + checker.received(Long.parseLong(t[8])) + " " + checker.position);
        }
        finally
        {
            subscription.close();
        }
    }

    /**
     * {@code persistent <recording> <live channel> <live stream> <replay channel> <replay stream> <start position>
     * <request channel> <response channel> <first sequence> <count> <length> <term length>}: prints
     * {@code FOLLOWING}, then {@code PERSISTENT <count> <position> <live>} once every message arrived, checked.
     */
    private void persistent(final String[] t) throws InterruptedException
    {
        final long startPosition = Long.parseLong(t[6]);
        final PersistentSubscription.Context ctx = new PersistentSubscription.Context()
            .aeron(aeron)
            .recordingId(Long.parseLong(t[1]))
            .liveChannel(t[2])
            .liveStreamId(Integer.parseInt(t[3]))
            .replayChannel(t[4])
            .replayStreamId(Integer.parseInt(t[5]))
            .startPosition(startPosition)
            .aeronArchiveContext(archiveContext(t[7], t[8]));
        final long checkedFrom = startPosition < 0 ? 0 : startPosition;
        final Checker checker = new Checker(
            Long.parseLong(t[9]), Long.parseLong(t[10]), Integer.parseInt(t[11]), checkedFrom,
            Integer.parseInt(t[12]));
        try (PersistentSubscription subscription = PersistentSubscription.create(ctx))
        {
            print("FOLLOWING");
            final boolean[] wasReplaying = new boolean[1];
            awaitDone(checker, "persistent subscription", () ->
            {
                wasReplaying[0] |= subscription.isReplaying();
                if (subscription.hasFailed())
                {
                    throw new IllegalStateException("failed: " + subscription.failureReason());
                }
                return subscription.poll(checker, 64);
            });
            final long deadline = System.nanoTime() + TIMEOUT_NS;
            while (!subscription.isLive())
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IllegalStateException("persistent subscription never went live");
                }
                if (0 == subscription.poll(checker, 64))
                {
                    Thread.sleep(1);
                }
            }
            if (null != checker.error)
            {
                throw new IllegalStateException("persistent subscription: " + checker.error);
            }
            print("PERSISTENT " + checker.received(Long.parseLong(t[9])) + " " + checker.position + " " +
                subscription.isLive() + " " + wasReplaying[0]);
        }
    }
}
