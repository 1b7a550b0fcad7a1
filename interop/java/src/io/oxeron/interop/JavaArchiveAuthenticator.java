package io.oxeron.interop;

import io.aeron.security.Authenticator;
import io.aeron.security.AuthenticatorSupplier;
import io.aeron.security.SessionProxy;
import org.agrona.collections.Long2ObjectHashMap;

import java.nio.charset.StandardCharsets;

/**
 * The interop suite's archive authenticator ({@code -Daeron.archive.authenticator.supplier=} this class):
 * credentials {@code admin} are accepted, {@code banned} rejected, anything else is challenged with
 * {@code nonce-42}, and the challenge is passed by answering {@code secret:nonce-42}.
 */
public final class JavaArchiveAuthenticator implements AuthenticatorSupplier
{
    static final String CHALLENGE = "nonce-42";

    public Authenticator get()
    {
        return new Decider();
    }

    private enum Verdict
    {
        ACCEPT, REJECT, CHALLENGE
    }

    private static final class Decider implements Authenticator
    {
        private final Long2ObjectHashMap<Verdict> verdicts = new Long2ObjectHashMap<>();

        public void onConnectRequest(final long sessionId, final byte[] encodedCredentials, final long nowMs)
        {
            final String credentials = new String(encodedCredentials, StandardCharsets.US_ASCII);
            final Verdict verdict;
            if ("admin".equals(credentials))
            {
                verdict = Verdict.ACCEPT;
            }
            else if ("banned".equals(credentials))
            {
                verdict = Verdict.REJECT;
            }
            else
            {
                verdict = Verdict.CHALLENGE;
            }
            verdicts.put(sessionId, verdict);
        }

        public void onChallengeResponse(final long sessionId, final byte[] encodedCredentials, final long nowMs)
        {
            final String answer = new String(encodedCredentials, StandardCharsets.US_ASCII);
            verdicts.put(sessionId, ("secret:" + CHALLENGE).equals(answer) ? Verdict.ACCEPT : Verdict.REJECT);
        }

        public void onConnectedSession(final SessionProxy sessionProxy, final long nowMs)
        {
            final Verdict verdict = verdicts.get(sessionProxy.sessionId());
            if (Verdict.CHALLENGE == verdict)
            {
                if (sessionProxy.challenge(CHALLENGE.getBytes(StandardCharsets.US_ASCII)))
                {
                    verdicts.remove(sessionProxy.sessionId());
                }
            }
            else
            {
                decide(sessionProxy, verdict);
            }
        }

        public void onChallengedSession(final SessionProxy sessionProxy, final long nowMs)
        {
            final Verdict verdict = verdicts.get(sessionProxy.sessionId());
            if (null != verdict)
            {
                decide(sessionProxy, verdict);
            }
        }

        private void decide(final SessionProxy sessionProxy, final Verdict verdict)
        {
            if (Verdict.ACCEPT == verdict)
            {
                if (sessionProxy.authenticate(new byte[0]))
                {
                    verdicts.remove(sessionProxy.sessionId());
                }
            }
            else
            {
                sessionProxy.reject();
                verdicts.remove(sessionProxy.sessionId());
            }
        }
    }
}
