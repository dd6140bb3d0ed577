package io.trendoff.udf;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF2;
import scala.collection.Iterator;
import scala.collection.Seq;

/**
 * Trending-term tallies of one bucket's posts (or of one pack of a dense bucket's posts),
 * packed: each term's posts and distinct authors, in rows of at most {@code perChunk} terms
 * (pipeline.trending.unpack_terms reads them; pipeline.jobs.aggregates.packed_terms calls this).
 *
 * <p>The separator is pipeline.trending.TERM_SEPARATOR, a newline (terms never hold white space).
 *
 * <p>Takes array&lt;struct&lt;author: string, terms: array&lt;string&gt;&gt;&gt; (a post's terms
 * are distinct) and returns array&lt;struct&lt;terms, posts, authors&gt;&gt;: newline-joined
 * terms, newline-joined post counts, and a JSON array of each term's sorted author list. Terms
 * come sorted, so a replayed micro-batch packs the same rows.
 *
 * <p>Why a function: tallying with Spark SQL shuffles every (bucket, term, author) use, about
 * twelve per post, then gathers each bucket's tallies in a second shuffle. Here each post is
 * shuffled once, with its terms, and a bucket is tallied in one sorted map.
 */
public final class PackTerms implements UDF2<Seq<Row>, Integer, Row[]> {
    private static final long serialVersionUID = 1L;

    private static final class Tally {
        int posts;
        final TreeSet<String> authors = new TreeSet<>();
    }

    @Override
    public Row[] call(Seq<Row> posts, Integer perChunk) {
        if (posts == null) {
            return new Row[0];
        }
        TreeMap<String, Tally> tallies = new TreeMap<>();
        Iterator<Row> each = posts.iterator();
        while (each.hasNext()) {
            Row post = each.next();
            String author = post.isNullAt(0) ? null : post.getString(0);
            if (post.isNullAt(1)) {
                continue;
            }
            List<String> terms = post.getList(1);
            for (String term : terms) {
                if (term == null) {
                    continue;
                }
                Tally tally = tallies.computeIfAbsent(term, key -> new Tally());
                tally.posts++;
                // Spark's collect_set, which this replaced, ignores null authors too.
                if (author != null) {
                    tally.authors.add(author);
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        StringBuilder terms = new StringBuilder();
        StringBuilder counts = new StringBuilder();
        StringBuilder authors = new StringBuilder("[");
        int inChunk = 0;
        for (Map.Entry<String, Tally> entry : tallies.entrySet()) {
            if (inChunk == perChunk) {
                rows.add(chunk(terms, counts, authors));
                terms.setLength(0);
                counts.setLength(0);
                authors.setLength(0);
                authors.append('[');
                inChunk = 0;
            }
            if (inChunk > 0) {
                terms.append('\n');
                counts.append('\n');
                authors.append(',');
            }
            terms.append(entry.getKey());
            counts.append(entry.getValue().posts);
            authors.append('[');
            boolean first = true;
            for (String author : entry.getValue().authors) {
                if (!first) {
                    authors.append(',');
                }
                appendJsonString(authors, author);
                first = false;
            }
            authors.append(']');
            inChunk++;
        }
        if (inChunk > 0) {
            rows.add(chunk(terms, counts, authors));
        }
        return rows.toArray(new Row[0]);
    }

    private static Row chunk(StringBuilder terms, StringBuilder counts, StringBuilder authors) {
        return RowFactory.create(terms.toString(), counts.toString(), authors.append(']').toString());
    }

    /** A JSON string literal: quotes, backslashes and control characters escaped (RFC 8259). */
    static void appendJsonString(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
