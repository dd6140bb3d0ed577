package io.trendoff.udf;

import java.text.Normalizer;
import java.util.Locale;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The first step of Trendoff's text rules, for Spark SQL: Unicode NFKC, then lower case, then the
 * final sigma folded to the ordinary one.
 *
 * <p>Spark SQL has no Unicode normalisation function, so this one step runs as a Java UDF inside
 * the JVM (no Python worker). The pure-Python reference, pipeline.text.tokenize.normalize, does the
 * same three steps. Java lower-cases a word-final capital sigma to the final form while Python
 * does not, so both sides fold the final form to the ordinary sigma afterwards.
 */
public final class NormalizeText implements UDF1<String, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String call(String text) {
        if (text == null) {
            return null;
        }
        String folded = Normalizer.normalize(text, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
        return folded.replace('\u03c2', '\u03c3');
    }
}
