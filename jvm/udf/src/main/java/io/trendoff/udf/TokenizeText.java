package io.trendoff.udf;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;

/**
 * Trendoff's text rules 1 to 5 in one scan of each step, for Spark SQL: the JVM twin of
 * pipeline.text.tokenize (docs/text-processing.md), without the stop-word filter.
 *
 * <p>Returns struct&lt;candidates, words, mentions, hashtags&gt; (arrays of strings; see
 * pipeline.text.spark_tokens.TOKENS_TYPE), or null for a null text:
 *
 * <ul>
 *   <li>candidates: runs of word characters and apostrophes, apostrophes stripped at both ends
 *       (what topic terms are matched against);
 *   <li>words: the candidates with a letter, 2 to 100 code points long (Spark SQL then drops the
 *       stop-words);
 *   <li>mentions and hashtags: without their sigil, at most 100 code points, hashtags with a
 *       letter.
 * </ul>
 *
 * <p>It replaced a chain of Spark SQL regular expressions (two replacements and three extractions
 * over each text, one more replacement per token): each step here is a single pass over the
 * text's code points with the same character classes as Java's regex {@code \p{L}}, {@code
 * \p{M}} and {@code \p{N}}, and the same leftmost, greedy matches. The integration tests hold it
 * equal to the Python reference on generated text and on dev posts.
 */
public final class TokenizeText implements UDF1<String, Row> {
    private static final long serialVersionUID = 1L;

    static final int MIN_WORD_LENGTH = 2;
    static final int MAX_TOKEN_LENGTH = 100;
    private static final String[] URL_PREFIXES = {"https://", "http://", "www."};
    private static final String[] NONE = new String[0];

    @Override
    public Row call(String text) {
        if (text == null) {
            return null;
        }
        String urlFree = withoutUrls(normalize(text));
        List<String> mentions = new ArrayList<>();
        String mentionFree = withoutMentions(urlFree, mentions);
        List<String> hashtags = hashtags(mentionFree);
        List<String> candidates = candidates(mentionFree);
        List<String> words = new ArrayList<>(candidates.size());
        for (String candidate : candidates) {
            int length = candidate.codePointCount(0, candidate.length());
            if (length >= MIN_WORD_LENGTH && length <= MAX_TOKEN_LENGTH && hasLetter(candidate)) {
                words.add(candidate);
            }
        }
        return RowFactory.create(
                candidates.toArray(NONE),
                words.toArray(NONE),
                mentions.toArray(NONE),
                hashtags.toArray(NONE));
    }

    /**
     * Rule 1: Unicode NFKC, then lower case, then the final sigma folded to the ordinary one
     * (Java lower-cases a word-final capital sigma to the final form while Python does not).
     */
    static String normalize(String text) {
        String folded = Normalizer.normalize(text, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
        return folded.replace('\u03c2', '\u03c3');
    }

    /** Letters, combining marks, numbers and the underscore (Java regex \p{L}\p{M}\p{N}_). */
    static boolean isWordChar(int codePoint) {
        if (codePoint == '_') {
            return true;
        }
        switch (Character.getType(codePoint)) {
            case Character.UPPERCASE_LETTER:
            case Character.LOWERCASE_LETTER:
            case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER:
            case Character.OTHER_LETTER:
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.COMBINING_SPACING_MARK:
            case Character.DECIMAL_DIGIT_NUMBER:
            case Character.LETTER_NUMBER:
            case Character.OTHER_NUMBER:
                return true;
            default:
                return false;
        }
    }

    static boolean isLetter(int codePoint) {
        switch (Character.getType(codePoint)) {
            case Character.UPPERCASE_LETTER:
            case Character.LOWERCASE_LETTER:
            case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER:
            case Character.OTHER_LETTER:
                return true;
            default:
                return false;
        }
    }

    private static boolean isApostrophe(int codePoint) {
        return codePoint == '\'' || codePoint == '\u2019';
    }

    /** The ASCII white space that ends a URL (not Unicode spaces: see rules.URL_END). */
    private static boolean endsUrl(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000b';
    }

    private static boolean hasLetter(String token) {
        for (int i = 0; i < token.length(); ) {
            int codePoint = token.codePointAt(i);
            if (isLetter(codePoint)) {
                return true;
            }
            i += Character.charCount(codePoint);
        }
        return false;
    }

    /** Rule 2: each URL (a prefix up to ASCII white space) becomes one space. */
    static String withoutUrls(String text) {
        StringBuilder out = null;
        int copied = 0;
        for (int i = 0; i < text.length(); i++) {
            if (!startsUrl(text, i)) {
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(text, copied, i).append(' ');
            int end = i;
            while (end < text.length() && !endsUrl(text.charAt(end))) {
                end++;
            }
            copied = end;
            i = end - 1;
        }
        if (out == null) {
            return text;
        }
        return out.append(text, copied, text.length()).toString();
    }

    private static boolean startsUrl(String text, int at) {
        char first = text.charAt(at);
        if (first != 'h' && first != 'w') {
            return false;
        }
        for (String prefix : URL_PREFIXES) {
            if (text.startsWith(prefix, at)) {
                return true;
            }
        }
        return false;
    }

    /** The end (exclusive) of the run of word characters starting at {@code from}. */
    private static int wordRunEnd(String text, int from) {
        int i = from;
        while (i < text.length()) {
            int codePoint = text.codePointAt(i);
            if (!isWordChar(codePoint)) {
                break;
            }
            i += Character.charCount(codePoint);
        }
        return i;
    }

    /** Whether a sigil at {@code at} may start a token: it does not follow a word character. */
    private static boolean sigilStarts(String text, int at) {
        return at == 0 || !isWordChar(text.codePointBefore(at));
    }

    private static boolean shortEnough(String text, int from, int to) {
        return text.codePointCount(from, to) <= MAX_TOKEN_LENGTH;
    }

    /**
     * Rule 3, mentions: {@code @} not after a word character, word characters, then any number of
     * {@code .} or {@code -} each followed by word characters. Collects them into {@code
     * mentions} (the short enough ones) and returns the text with each replaced by a space.
     */
    static String withoutMentions(String text, List<String> mentions) {
        StringBuilder out = null;
        int copied = 0;
        int i = 0;
        while (i < text.length()) {
            int at = text.indexOf('@', i);
            if (at < 0) {
                break;
            }
            int end = sigilStarts(text, at) ? wordRunEnd(text, at + 1) : at + 1;
            if (end == at + 1) {
                i = at + 1;
                continue;
            }
            while (end + 1 < text.length()) {
                char separator = text.charAt(end);
                if (separator != '.' && separator != '-') {
                    break;
                }
                int next = wordRunEnd(text, end + 1);
                if (next == end + 1) {
                    break;
                }
                end = next;
            }
            if (shortEnough(text, at + 1, end)) {
                mentions.add(text.substring(at + 1, end));
            }
            if (out == null) {
                out = new StringBuilder(text.length());
            }
            out.append(text, copied, at).append(' ');
            copied = end;
            i = end;
        }
        if (out == null) {
            return text;
        }
        return out.append(text, copied, text.length()).toString();
    }

    /** Rule 3, hashtags: {@code #} not after a word character, then word characters. */
    static List<String> hashtags(String text) {
        List<String> tags = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int at = text.indexOf('#', i);
            if (at < 0) {
                break;
            }
            int end = sigilStarts(text, at) ? wordRunEnd(text, at + 1) : at + 1;
            if (end > at + 1) {
                String tag = text.substring(at + 1, end);
                if (shortEnough(text, at + 1, end) && hasLetter(tag)) {
                    tags.add(tag);
                }
            }
            i = end;
        }
        return tags;
    }

    /** Rule 4: runs of word characters and apostrophes, apostrophes stripped at both ends. */
    static List<String> candidates(String text) {
        List<String> tokens = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int codePoint = text.codePointAt(i);
            if (!isWordChar(codePoint) && !isApostrophe(codePoint)) {
                i += Character.charCount(codePoint);
                continue;
            }
            int start = i;
            int end = i;
            // Apostrophes are one char each, so the stripped bounds stay on code point edges.
            while (end < text.length()) {
                int inside = text.codePointAt(end);
                if (!isWordChar(inside) && !isApostrophe(inside)) {
                    break;
                }
                end += Character.charCount(inside);
            }
            i = end;
            while (start < end && isApostrophe(text.charAt(start))) {
                start++;
            }
            while (end > start && isApostrophe(text.charAt(end - 1))) {
                end--;
            }
            if (start < end) {
                tokens.add(text.substring(start, end));
            }
        }
        return tokens;
    }
}
