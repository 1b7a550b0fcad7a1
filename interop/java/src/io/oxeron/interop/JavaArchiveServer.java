package io.oxeron.interop;

import io.aeron.archive.Archive;
import io.aeron.archive.ArchivingMediaDriver;
import io.aeron.driver.MediaDriver;
import org.agrona.concurrent.ShutdownSignalBarrier;

/**
 * Java's {@link ArchivingMediaDriver} (driver and archive configured by Aeron's system properties) that prints
 * {@code READY <archiveId>} once it serves, and closes on SIGTERM or SIGINT, printing {@code CLOSED} once closed.
 */
public final class JavaArchiveServer
{
    public static void main(final String[] args)
    {
        // The barrier's shutdown hook holds the JVM until the barrier closes, so CLOSED is printed in between.
        try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier())
        {
            try (ArchivingMediaDriver driver = ArchivingMediaDriver.launch(
                new MediaDriver.Context().terminationHook(barrier::signalAll),
                new Archive.Context()))
            {
                System.out.println("READY " + driver.archive().context().archiveId());
                System.out.flush();
                barrier.await();
            }
            System.out.println("CLOSED");
            System.out.flush();
        }
    }
}
