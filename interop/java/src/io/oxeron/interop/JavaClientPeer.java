package io.oxeron.interop;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Java Aeron client driven line by line through stdin, for the interop tests. It connects to the driver in
 * {@code -Daeron.dir}, prints {@code READY}, then runs one command a line and answers each with one line
 * ({@code ERROR <why>} on failure):
 *
 * <pre>
 * pub ID exclusive|concurrent STREAM CHANNEL  -> PUB ID session=S
 * dest ID CHANNEL                             -> OK (publication destination, manual MDC)
 * sub ID STREAM CHANNEL                       -> SUB ID
 * rcvdest ID CHANNEL                          -> OK (subscription destination, MDS)
 * connected ID                                -> CONNECTED ID (waits for the publication to connect)
 * images ID N                                 -> IMAGES ID count=C (waits for N images)
 * send ID COUNT LENGTH                        -> SENT ID count=C last=P hash=H
 * receive COUNT LENGTH ID...                  -> RECEIVED ID count=C last=P hash=H, one line per ID
 * close ID                                    -> OK
 * exit                                        -> BYE
 * </pre>
 *
 * Message n carries n: its first eight bytes are n (little-endian) and byte i beyond is {@code 31 * n + i}
 * (mod 256), as {@code oxeron::sample} fills them. LENGTH is a number, or {@code short} for 8 + n % 249.
 * The hash is FNV-1a (64 bit) over each message's position (eight bytes, little-endian) then its bytes, in
 * order; the receiver also checks every message's bytes itself.
 */
public final class JavaClientPeer
{
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;
    private static final long WAIT_NS = TimeUnit.SECONDS.toNanos(20);
    private static final long TRANSFER_NS = TimeUnit.SECONDS.toNanos(90);

    private final Aeron aeron;
    private final Map<String, Publication> publications = new HashMap<>();
    private final Map<String, Subscription> subscriptions = new HashMap<>();
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);

    private JavaClientPeer(final Aeron aeron)
    {
        this.aeron = aeron;
    }

    public static void main(final String[] args) throws Exception
    {
        try (Aeron aeron = Aeron.connect(new Aeron.Context()))
        {
            final JavaClientPeer peer = new JavaClientPeer(aeron);
            reply("READY");
            final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null)
            {
                final String[] words = line.trim().split(" +");
                if (words.length == 0 || words[0].isEmpty())
                {
                    continue;
                }
                if ("exit".equals(words[0]))
                {
                    break;
                }
                try
                {
                    peer.run(words);
                }
                catch (final Exception ex)
                {
                    reply("ERROR " + line + ": " + ex);
                }
            }
        }
        reply("BYE");
    }

    private static void reply(final String line)
    {
        System.out.println(line);
        System.out.flush();
    }

    private void run(final String[] w) throws Exception
    {
        switch (w[0])
        {
            case "pub":
            {
                final Publication publication = "exclusive".equals(w[2]) ?
                    aeron.addExclusivePublication(w[4], Integer.parseInt(w[3])) :
                    aeron.addPublication(w[4], Integer.parseInt(w[3]));
                publications.put(w[1], publication);
                reply("PUB " + w[1] + " session=" + publication.sessionId());
                break;
            }
            case "dest":
                publication(w[1]).addDestination(w[2]);
                reply("OK");
                break;
            case "sub":
                subscriptions.put(w[1], aeron.addSubscription(w[3], Integer.parseInt(w[2])));
                reply("SUB " + w[1]);
                break;
            case "rcvdest":
                subscription(w[1]).addDestination(w[2]);
                reply("OK");
                break;
            case "connected":
            {
                final Publication publication = publication(w[1]);
                await("publication " + w[1] + " to connect", publication::isConnected);
                reply("CONNECTED " + w[1]);
                break;
            }
            case "images":
            {
                final Subscription subscription = subscription(w[1]);
                final int wanted = Integer.parseInt(w[2]);
                await("subscription " + w[1] + " to have " + wanted + " images",
                    () -> subscription.imageCount() >= wanted);
                reply("IMAGES " + w[1] + " count=" + subscription.imageCount());
                break;
            }
            case "send":
                send(w[1], Long.parseLong(w[2]), w[3]);
                break;
            case "receive":
                receive(Long.parseLong(w[1]), w[2], java.util.Arrays.copyOfRange(w, 3, w.length));
                break;
            case "close":
            {
                final Publication publication = publications.remove(w[1]);
                final Subscription subscription = subscriptions.remove(w[1]);
                if (null != publication)
                {
                    publication.close();
                }
                if (null != subscription)
                {
                    subscription.close();
                }
                reply("OK");
                break;
            }
            default:
                throw new IllegalArgumentException("unknown command");
        }
    }

    private Publication publication(final String id)
    {
        final Publication publication = publications.get(id);
        if (null == publication)
        {
            throw new IllegalArgumentException("no publication " + id);
        }
        return publication;
    }

    private Subscription subscription(final String id)
    {
        final Subscription subscription = subscriptions.get(id);
        if (null == subscription)
        {
            throw new IllegalArgumentException("no subscription " + id);
        }
        return subscription;
    }

    private void await(final String what, final java.util.function.BooleanSupplier done)
    {
        final long deadline = System.nanoTime() + WAIT_NS;
        idle.reset();
        while (!done.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            idle.idle();
        }
    }

    static int length(final String spec, final long sequence)
    {
        return "short".equals(spec) ? 8 + (int)(sequence % 249) : Integer.parseInt(spec);
    }

    static void fill(final UnsafeBuffer buffer, final int length, final long sequence)
    {
        for (int i = 0; i < length; i++)
        {
            buffer.putByte(i, expected(sequence, i));
        }
    }

    static byte expected(final long sequence, final int index)
    {
        return index < 8 ? (byte)(sequence >>> (8 * index)) : (byte)((int)(sequence & 0xff) * 31 + index);
    }

    static long hash(final long hash, final long position, final org.agrona.DirectBuffer buffer, final int offset,
        final int length)
    {
        long h = hash;
        for (int i = 0; i < 8; i++)
        {
            h = (h ^ ((position >>> (8 * i)) & 0xff)) * FNV_PRIME;
        }
        for (int i = 0; i < length; i++)
        {
            h = (h ^ (buffer.getByte(offset + i) & 0xff)) * FNV_PRIME;
        }
        return h;
    }

    private void send(final String id, final long count, final String lengthSpec)
    {
        final Publication publication = publication(id);
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(publication.maxMessageLength()));
        final long deadline = System.nanoTime() + TRANSFER_NS;
        long hash = FNV_OFFSET;
        long last = -1;
        String lastError = "none";
        for (long n = 0; n < count; n++)
        {
            final int length = length(lengthSpec, n);
            fill(buffer, length, n);
            idle.reset();
            long position;
            while ((position = publication.offer(buffer, 0, length)) < 0)
            {
                if (position == Publication.CLOSED || position == Publication.MAX_POSITION_EXCEEDED)
                {
                    throw new IllegalStateException("offer of message " + n + ": " + Publication.errorString(position));
                }
                lastError = Publication.errorString(position);
                if (System.nanoTime() > deadline)
                {
                    throw new IllegalStateException(
                        "timed out offering message " + n + " of " + count + ", last result " + lastError);
                }
                idle.idle();
            }
            hash = hash(hash, position, buffer, 0, length);
            last = position;
        }
        reply("SENT " + id + " count=" + count + " last=" + last + " hash=" + Long.toUnsignedString(hash));
    }

    /** What one subscription received so far; checks every message against message n. */
    private static final class Receiver implements FragmentHandler
    {
        final String id;
        final String lengthSpec;
        long received;
        long last = -1;
        long hash = FNV_OFFSET;
        String error;

        Receiver(final String id, final String lengthSpec)
        {
            this.id = id;
            this.lengthSpec = lengthSpec;
        }

        public void onFragment(
            final org.agrona.DirectBuffer buffer, final int offset, final int length, final io.aeron.logbuffer.Header header)
        {
            if (null == error)
            {
                error = check(buffer, offset, length, received, lengthSpec);
                if (null == error && header.position() <= last)
                {
                    error = "message " + received + ": position " + header.position() + " not beyond " + last;
                }
            }
            hash = hash(hash, header.position(), buffer, offset, length);
            last = header.position();
            received++;
        }
    }

    static String check(
        final org.agrona.DirectBuffer buffer, final int offset, final int length, final long n, final String spec)
    {
        final int want = length(spec, n);
        if (length != want)
        {
            return "message " + n + ": length " + length + " instead of " + want;
        }
        for (int i = 0; i < length; i++)
        {
            if (buffer.getByte(offset + i) != expected(n, i))
            {
                return "message " + n + ": wrong byte at " + i + " (carries sequence " +
                    (length >= 8 ? buffer.getLong(offset, java.nio.ByteOrder.LITTLE_ENDIAN) : -1) + ")";
            }
        }
        return null;
    }

    private void receive(final long count, final String lengthSpec, final String[] ids)
    {
        final Subscription[] subs = new Subscription[ids.length];
        final Receiver[] receivers = new Receiver[ids.length];
        final FragmentAssembler[] assemblers = new FragmentAssembler[ids.length];
        for (int i = 0; i < ids.length; i++)
        {
            subs[i] = subscription(ids[i]);
            receivers[i] = new Receiver(ids[i], lengthSpec);
            assemblers[i] = new FragmentAssembler(receivers[i]);
        }
        final long deadline = System.nanoTime() + TRANSFER_NS;
        boolean done = false;
        while (!done)
        {
            int work = 0;
            done = true;
            for (int i = 0; i < ids.length; i++)
            {
                work += subs[i].poll(assemblers[i], 256);
                if (null != receivers[i].error)
                {
                    throw new IllegalStateException("subscription " + ids[i] + ": " + receivers[i].error);
                }
                if (receivers[i].received > count)
                {
                    throw new IllegalStateException(
                        "subscription " + ids[i] + ": " + receivers[i].received + " messages of " + count);
                }
                done &= receivers[i].received == count;
            }
            if (System.nanoTime() > deadline)
            {
                final StringBuilder progress = new StringBuilder("timed out receiving " + count + " messages:");
                for (final Receiver r : receivers)
                {
                    progress.append(' ').append(r.id).append('=').append(r.received);
                }
                throw new IllegalStateException(progress.toString());
            }
            idle.idle(work);
        }
        for (final Receiver r : receivers)
        {
            reply("RECEIVED " + r.id + " count=" + r.received + " last=" + r.last + " hash=" +
                Long.toUnsignedString(r.hash));
        }
    }
}
