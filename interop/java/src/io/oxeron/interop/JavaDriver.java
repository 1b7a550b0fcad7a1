package io.oxeron.interop;

import io.aeron.driver.MediaDriver;
import org.agrona.concurrent.ShutdownSignalBarrier;

/**
 * Java's {@link MediaDriver}, configured by Aeron's system properties, that prints {@code READY <aeron dir>} once
 * it serves and {@code CLOSED} after SIGTERM or SIGINT closed it.
 */
public final class JavaDriver
{
    public static void main(final String[] args)
    {
        // The barrier's shutdown hook holds the JVM's exit until the barrier closes, so say CLOSED before that.
        try (ShutdownSignalBarrier barrier = new ShutdownSignalBarrier())
        {
            try (MediaDriver driver = MediaDriver.launch(
                new MediaDriver.Context().terminationHook(barrier::signalAll)))
            {
                System.out.println("READY " + driver.aeronDirectoryName());
                System.out.flush();
                barrier.await();
            }
            System.out.println("CLOSED");
            System.out.flush();
        }
    }
}
