//! Turning a [`SearchRequest`] into a tantivy query and running it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::query_grammar::{self, UserInputAst, UserInputLeaf, UserInputLiteral};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, Order, Searcher, TantivyDocument, Term};

use super::index_error;
use super::schema::{CREATED_AT_US, Fields};
use crate::search::{SearchError, SearchFilters, SearchHit, SearchRequest, SearchResults};

/// Most hits returned by one request.
const MAX_LIMIT: usize = 1_000;
/// Deepest hit a request may page to; beyond it the page is empty (the
/// total is still counted).
const MAX_OFFSET: usize = 100_000;
/// Longest query text honoured, in chars; the rest is ignored (a longer text
/// is not a search, and every word costs a clause per field).
const MAX_TEXT_CHARS: usize = 1_000;
/// Largest phrase slop (`"a b"~N`) honoured.
const MAX_SLOP: u32 = 16;
/// Length of a highlight snippet (tantivy counts UTF-8 bytes).
const SNIPPET_BYTES: usize = 240;
/// Boost of the title over the other text fields.
const TITLE_BOOST: f32 = 3.0;
/// Status that [`SearchFilters::status`] `None` leaves out.
const DELETED: &str = "deleted";

/// Parses user text over the full-text fields; cheap to share.
pub(crate) struct TextParser {
    parser: QueryParser,
    /// Names of the fields the user may address as `field:word`.
    field_names: BTreeSet<String>,
}

impl TextParser {
    pub(crate) fn new(index: &Index, fields: &Fields) -> Self {
        let text_fields = fields.text_fields();
        let schema = index.schema();
        let field_names = text_fields
            .iter()
            .map(|&field| schema.get_field_name(field).to_string())
            .collect();
        let mut parser = QueryParser::for_index(index, text_fields);
        parser.set_conjunction_by_default();
        parser.set_field_boost(fields.title, TITLE_BOOST);
        TextParser {
            parser,
            field_names,
        }
    }

    /// The query for `text`; never fails. Every word must match (in some
    /// field); `"quoted words"` are phrases, `-word` excludes, `OR` is
    /// honoured, `title:word` targets a full-text field. Everything else the
    /// grammar knows (ranges, sets, regexes, `field:*`, boosts, other
    /// fields) is dropped or read as plain words, so no input can fail or
    /// reach the filter fields.
    pub(crate) fn parse(&self, text: &str) -> Box<dyn Query> {
        let (ast, _syntax_errors) = query_grammar::parse_query_lenient(text);
        let ast = self.sanitize(ast).unwrap_or_else(UserInputAst::empty_query);
        // Remaining errors (e.g. a word that analyses to nothing) only drop
        // the clause concerned.
        let (query, _errors) = self.parser.build_query_from_user_input_ast_lenient(ast);
        query
    }

    fn sanitize(&self, ast: UserInputAst) -> Option<UserInputAst> {
        match ast {
            UserInputAst::Clause(clauses) => {
                let clauses: Vec<_> = clauses
                    .into_iter()
                    .filter_map(|(occur, ast)| Some((occur, self.sanitize(ast)?)))
                    .collect();
                (!clauses.is_empty()).then_some(UserInputAst::Clause(clauses))
            }
            // User boosts could be NaN or huge: ignore them.
            UserInputAst::Boost(ast, _) => self.sanitize(*ast),
            UserInputAst::Leaf(leaf) => match *leaf {
                UserInputLeaf::Literal(literal) => Some(UserInputAst::Leaf(Box::new(
                    UserInputLeaf::Literal(self.sanitize_literal(literal)),
                ))),
                UserInputLeaf::All => Some(UserInputAst::Leaf(Box::new(UserInputLeaf::All))),
                UserInputLeaf::Range { .. }
                | UserInputLeaf::Set { .. }
                | UserInputLeaf::Exists { .. }
                | UserInputLeaf::Regex { .. } => None,
            },
        }
    }

    fn sanitize_literal(&self, mut literal: UserInputLiteral) -> UserInputLiteral {
        if let Some(name) = literal.field_name.take() {
            if self.field_names.contains(&name) {
                literal.field_name = Some(name);
            } else {
                // `size:large` or `3:4` are words, not a field.
                literal.phrase = format!("{name} {}", literal.phrase);
            }
        }
        literal.slop = literal.slop.min(MAX_SLOP);
        literal
    }
}

/// The filter clauses of `filters` (they do not score).
fn filter_clauses(fields: &Fields, filters: &SearchFilters) -> Vec<(Occur, Box<dyn Query>)> {
    let exact = |field: Field, value: &str| -> Box<dyn Query> {
        Box::new(ConstScoreQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )),
            0.0,
        ))
    };
    let mut clauses = Vec::new();
    let material = filters.material.as_ref().map(|m| m.to_lowercase());
    for (field, value) in [
        (fields.exact_category, filters.category.as_deref()),
        (fields.exact_subcategory, filters.subcategory.as_deref()),
        (fields.exact_region, filters.region.as_deref()),
        (fields.exact_artisan_id, filters.artisan_id.as_deref()),
        (fields.exact_material, material.as_deref()),
        (fields.exact_status, filters.status.as_deref()),
    ] {
        if let Some(value) = value {
            clauses.push((Occur::Must, exact(field, value)));
        }
    }
    if filters.status.is_none() {
        clauses.push((Occur::MustNot, exact(fields.exact_status, DELETED)));
    }
    if filters.min_price.is_some() || filters.max_price.is_some() {
        let bound = |price: Option<i64>| {
            price.map_or(Bound::Unbounded, |p| {
                Bound::Included(Term::from_field_i64(fields.price, p))
            })
        };
        let range = RangeQuery::new(bound(filters.min_price), bound(filters.max_price));
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(range), 0.0)),
        ));
    }
    clauses
}

/// Runs `request` on `searcher` (blocking).
pub(crate) fn run(
    searcher: &Searcher,
    fields: &Fields,
    parser: &TextParser,
    request: &SearchRequest,
) -> Result<SearchResults, SearchError> {
    let text = truncate_chars(request.text.trim(), MAX_TEXT_CHARS);
    let text_query = (!text.is_empty()).then(|| parser.parse(text));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        text_query
            .as_ref()
            .map_or_else(|| Box::new(AllQuery) as Box<dyn Query>, |q| q.box_clone()),
    )];
    clauses.extend(filter_clauses(fields, &request.filters));
    let query = BooleanQuery::new(clauses);

    let limit = request.limit.min(MAX_LIMIT);
    if limit == 0 || request.offset > MAX_OFFSET {
        let total = searcher.search(&query, &Count).map_err(index_error)?;
        return Ok(SearchResults {
            hits: Vec::new(),
            total,
        });
    }
    let top = TopDocs::with_limit(limit).and_offset(request.offset);
    let (total, ranked): (usize, Vec<(f32, DocAddress)>) = match &text_query {
        Some(_) => searcher
            .search(&query, &(Count, top.order_by_score()))
            .map_err(index_error)?,
        None => {
            // Browsing: newest first, no relevance score.
            let (total, newest) = searcher
                .search(
                    &query,
                    &(
                        Count,
                        top.order_by_fast_field::<i64>(CREATED_AT_US, Order::Desc),
                    ),
                )
                .map_err(index_error)?;
            (
                total,
                newest.into_iter().map(|(_, doc)| (0.0, doc)).collect(),
            )
        }
    };

    let highlighters = match &text_query {
        Some(text_query) => highlighters(searcher, fields, text_query.as_ref())?,
        None => Vec::new(),
    };
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, address) in ranked {
        let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
        let id = doc
            .get_first(fields.id)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_string();
        let mut highlights = BTreeMap::new();
        for (key, generator) in &highlighters {
            let snippet = generator.snippet_from_doc(&doc);
            if !snippet.is_empty() {
                highlights.insert(key.clone(), snippet.to_html());
            }
        }
        hits.push(SearchHit {
            id,
            score,
            highlights,
        });
    }
    Ok(SearchResults { hits, total })
}

/// The first `max` chars of `text`.
fn truncate_chars(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(end, _)| text.get(..end).unwrap_or(text))
}

/// Snippet generators for the highlighted fields the query has terms in.
fn highlighters(
    searcher: &Searcher,
    fields: &Fields,
    text_query: &dyn Query,
) -> Result<Vec<(String, SnippetGenerator)>, SearchError> {
    let mut queried = BTreeSet::new();
    text_query.query_terms(&mut |term, _| {
        queried.insert(term.field());
    });
    let mut out = Vec::new();
    for (key, field) in fields.highlighted() {
        if !queried.contains(&field) {
            continue;
        }
        let mut generator =
            SnippetGenerator::create(searcher, text_query, field).map_err(index_error)?;
        generator.set_max_num_chars(SNIPPET_BYTES);
        out.push((key, generator));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn truncation_counts_chars_not_bytes() {
        assert_eq!(truncate_chars("साड़ी silk", 4), "साड़");
        assert_eq!(truncate_chars("silk", 4), "silk");
        assert_eq!(truncate_chars("silk", 10), "silk");
        assert_eq!(truncate_chars("", 0), "");
    }
}
