//! The syntax tree of a template.

/// An expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Const(crate::value::Value),
    Name(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Attr(Box<Expr>, String),
    Item(Box<Expr>, Box<Expr>),
    Slice {
        target: Box<Expr>,
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
    },
    Filter {
        value: Box<Expr>,
        name: String,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
    },
    Test {
        value: Box<Expr>,
        name: String,
        args: Vec<Expr>,
        negated: bool,
    },
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `a == b < c`: Python's chained comparison.
    Compare(Box<Expr>, Vec<(&'static str, Expr)>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
}

/// An assignment target (`x`, `a, b`).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Name(String),
    Tuple(Vec<Target>),
    /// `ns.attr` (a namespace attribute).
    Attr(String, String),
}

/// A statement (node of the template body).
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Print(Expr, usize),
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    For {
        target: Target,
        iter: Expr,
        filter: Option<Expr>,
        body: Vec<Node>,
        otherwise: Vec<Node>,
        line: usize,
    },
    Set(Target, Expr),
    SetBlock(String, Vec<Node>),
    With(Vec<(Target, Expr)>, Vec<Node>),
    Do(Expr),
    Macro {
        name: String,
        params: Vec<(String, Option<Expr>)>,
        body: Vec<Node>,
    },
    FilterBlock {
        filter: Expr,
        body: Vec<Node>,
    },
    Include(Expr, usize),
}
